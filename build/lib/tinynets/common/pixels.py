"""Images are kept as uint8 pixels on disk and in memory; the net sees each as a float in [0, 1]."""

PIXEL_SCALE = 1 / 255
