"""The page `dvc plots show` fills in, with Vega, Vega-Lite and vega-embed inside it: its plots draw offline.

DVC's own page loads the three libraries from a CDN (dvc#5679). vl-convert-python ships them, bundled
for a plain <script> tag; DVC's `plots.html_template` setting (.dvc/config) points at the page written
here. `make setup` writes it, beside the settings in .dvc/, ignored by git.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinynets.common import paths


def page_template() -> str:
    """A page with the libraries inline and DVC's `{plot_divs}` placeholder (no `{scripts}`: no CDN tags)."""
    import vl_convert

    bundle = vl_convert.javascript_bundle()  # sets window.vegaEmbed, which DVC's plot divs call
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>DVC Plot</title>\n'
        f"<script>{bundle}</script>\n"
        "<style>table { border-spacing: 15px; }</style>\n</head>\n<body>\n{plot_divs}\n</body>\n</html>\n"
    )


def write_template(path: Path = paths.PLOTS_TEMPLATE) -> None:
    """Write the page template (the bundle takes a second or two to build)."""
    path.write_text(page_template())


if __name__ == "__main__":
    write_template(Path(sys.argv[1]) if len(sys.argv) > 1 else paths.PLOTS_TEMPLATE)
