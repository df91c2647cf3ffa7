"""The errors a user can cause or fix; each is reported as one line, without a traceback."""


class TinynetsError(Exception):
    """A problem the user can act on; its message is the whole report."""


class ConfigError(TinynetsError):
    """params.yaml asks for something invalid or unavailable."""


class DataError(TinynetsError):
    """Data could not be obtained or read."""


class TrainingError(TinynetsError):
    """Training diverged or could not run."""
