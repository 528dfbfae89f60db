"""What a report shows while its runs go: the table printed on stdout row by row as each run
finishes, and the progress lines on stderr."""


class LiveTable:
    """A table printed on stdout one row at a time, as each run finishes (the header first)."""

    def __init__(self, title: str, columns: list[str], widths: list[int]) -> None:
        self.columns, self.widths = columns, widths
        self.rows: list[list[str]] = []
        self._title = title
        self._started = False

    def add(self, row: list[str]) -> None:
        from digitrec.output import stdout_console

        if not self._started:
            stdout_console.print(f"[bold]{self._title}[/]")
            stdout_console.print(self._line(self.columns), style="bold", soft_wrap=True)
            self._started = True
        self.rows.append(row)
        stdout_console.print(self._line(row), soft_wrap=True, markup=False)

    def _line(self, cells: list[str]) -> str:
        first, *rest = zip(cells, self.widths, strict=True)
        return f"{first[0]:<{first[1]}}" + "".join(f" {c:>{w}}" for c, w in rest)


def announce(message: str) -> None:
    """A progress line on stderr (which run is next), kept out of the table on stdout."""
    from digitrec.progress import stderr_console

    stderr_console.print(f"[dim]{message}[/]", highlight=False)
