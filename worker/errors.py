"""The base of every error a user can fix or act on: the CLI prints str(e) on one line and exits with
exit_code, without a traceback. Kept import-free so the CLI can catch it before loading any stage."""


class NewswatchError(Exception):
    exit_code = 1  # a runtime failure


class UsageError(NewswatchError):
    exit_code = 2  # a usage or configuration error, as click's own usage errors
