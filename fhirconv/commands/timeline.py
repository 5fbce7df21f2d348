"""``fhirconv timeline``: a picture of a patient's course (SVG or PNG).

matplotlib loads inside the command, so that ``fhirconv --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fhirconv.commands.options import output_option
from fhirconv.errors import FindingsError, InputError, MappingError
from fhirconv.fileio import is_stdout

if TYPE_CHECKING:
    from fhirconv.model.case import Case

FORMATS = {".svg": "svg", ".png": "png"}



def is_fhir_file(path: Path) -> bool:
    """A file holding FHIR (a Bundle, a resource, NDJSON), judged by its content."""
    if path.suffix.lower() in (".yaml", ".yml") or not path.is_file():
        return False
    from fhirconv.kinds import Kind, recognise_file

    found = recognise_file(path)
    return found is not None and found.kind in (Kind.BUNDLE, Kind.RESOURCE, Kind.NDJSON)


def load_any(source: str, doi: str | None) -> tuple[Case, int]:
    """A built-in case, a case file, or a FHIR bundle imported; and how many elements the
    import could not map (0 for cases)."""
    path = Path(source)
    if not is_fhir_file(path):
        from fhirconv.cases import load_case

        return load_case(source), 0
    from fhirconv.importing.reader import import_entries, read_files

    try:
        result = import_entries(read_files([path]), doi, (path.name,))
    except MappingError as err:
        raise MappingError(f"{source}: {err}") from None
    return result.case, len(result.unmapped)


def picture_format(output: Path | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if output is None or is_stdout(output):
        return "svg"
    found = FORMATS.get(output.suffix.lower())
    if found is None:
        raise InputError(
            f"{output}: cannot tell the picture format from the suffix {output.suffix or '(none)'!r}: "
            "name the file .svg or .png, or give --format"
        )
    return found


@click.command("timeline")
@click.argument("source", metavar="CASE|FILE|BUNDLE")
@output_option(
    "-o",
    "--output",
    help="Write the picture to FILE; .svg or .png says the format. Without it (or with -), "
    "SVG goes to standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png"]),
    help="The picture format, when the file name does not say it (or for standard output).",
)
@click.option(
    "--width",
    type=click.FloatRange(8, 40),
    default=13.0,
    show_default=True,
    help="Width of the picture in inches (its height follows from what it holds).",
)
@click.option(
    "--doi",
    help="DOI of the case report, for a bundle that names no publication "
    "(the picture then cites it instead of the file).",
)
def timeline_command(
    source: str, output: Path | None, fmt: str | None, width: float, doi: str | None
) -> None:
    """Draw a patient's course as a timeline picture (SVG or PNG).

    SOURCE is a built-in case (case1), a case file, or any FHIR R4 bundle (or
    resource, or NDJSON file), which is imported first. Lanes show diagnoses and
    metastases, surgery and other procedures, systemic therapy as bars over
    their periods, imaging, receptor and Ki-67 results, disease status, and age
    and outcome. A date known only to the month or year is drawn as that month
    or year, never as a day; declined treatments are hatched; where the
    report's text and a figure disagree the picture shows the text's value and
    a numbered mark, with both values below. Facts with no date are listed in a
    column of their own. The same input gives byte-identical output.

    Exits 1 when the case has no dated fact to draw.

    \b
    Examples:
      fhirconv timeline case1 -o case1-timeline.svg
      fhirconv timeline case2 -o case2-timeline.png --width 16
      fhirconv timeline my-case.yaml --format png > my-case.png
      fhirconv timeline Bundle-jenny-m.json -o jenny.svg
      fhirconv timeline pulled.json --doi 10.1000/xyz -o pulled.png
    """
    picture = picture_format(output, fmt)
    if is_stdout(output) and picture == "png" and sys.stdout.isatty():
        raise InputError("a PNG is not for a terminal: give -o FILE.png, or redirect standard output")
    case, unmapped = load_any(source, doi)
    from fhirconv.timeline.describe import describe

    timeline = describe(case)
    if not timeline.dated:
        count = len(case.facts())
        held = f"its {count} fact(s) have no date" if count else "it holds no clinical facts"
        raise FindingsError(f"{source}: nothing to draw: {held}")
    from fhirconv.fileio import write_output
    from fhirconv.timeline.render import draw

    data = draw(timeline, picture, width)  # type: ignore[arg-type]
    write_output(data, output)
    if unmapped:
        click.echo(
            f"{source}: {unmapped} element(s) the import could not map are not pictured "
            f"(`fhirconv import {source}` lists them)",
            err=True,
        )
    if not is_stdout(output):
        notes = f", {len(timeline.notes)} text/figure disagreement(s)" if timeline.notes else ""
        click.echo(
            f"Wrote the timeline of {case.id} ({len(timeline.dated)} dated and "
            f"{len(timeline.undated)} undated item(s){notes}) to {output}",
            err=True,
        )


COMMANDS: list[click.Command] = [timeline_command]
