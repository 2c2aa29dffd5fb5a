"""One ``bench run`` from spec to report: check the spec and the directory, hold the
directory's lock, write the cells' recipes, run the cells without a result, write the report.
``peftctl bench run`` and the UI's launch tab both call :func:`run_spec`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from peftctl.bench.cells import Cell
from peftctl.bench.runner import EXECUTORS, BenchRun
from peftctl.bench.spec import BenchSpec
from peftctl.bench.store import BenchDir
from peftctl.errors import PeftctlError


@dataclass(frozen=True)
class RunOptions:
    """How the cells run (``peftctl bench run``'s options)."""

    jobs: int = 1
    executor: str = "local"
    ray_address: str | None = None
    cpus_per_cell: int | None = None
    quiet: bool = False

    def check(self) -> None:
        """Raise a one-line error for options that cannot run."""
        if self.executor not in EXECUTORS:
            raise PeftctlError(f"--executor {self.executor}: use one of {', '.join(EXECUTORS)}")
        if self.jobs < 1 or (self.cpus_per_cell is not None and self.cpus_per_cell < 1):
            raise PeftctlError("--jobs and --cpus-per-cell must be at least 1")
        if self.executor == "ray" and self.jobs != 1:
            raise PeftctlError("--jobs is for the local executor; Ray runs as many cells as fit")
        if self.executor == "ray":  # before anything is written
            from peftctl.bench.ray_address import check_ray_address

            check_ray_address(self.ray_address)


@dataclass
class SpecRun:
    """What :func:`run_spec` did, and where its report is."""

    bench: BenchDir
    outcome: BenchRun
    report: dict[str, Path]


def run_spec(
    spec: str,
    overrides: Sequence[str] = (),
    output_dir: str | None = None,
    options: RunOptions = RunOptions(),
    say: Callable[[str], None] = print,
) -> SpecRun:
    """Run bench ``spec`` (a shipped name or a YAML path) into ``output_dir`` (default
    ``runs/bench/<spec>``); ``say`` gets the plan line before the cells start."""
    from peftctl.bench.runner import prepare, run_bench
    from peftctl.bench.store import exclusive

    options.check()
    loaded, cells, bench = open_bench(spec, overrides, output_dir)
    with exclusive(bench):
        prepare(bench, loaded, cells, spec, overrides)
        say(plan_line(bench, cells, options))
        outcome = run_bench(
            bench,
            cells,
            jobs=options.jobs,
            executor=options.executor,
            ray_address=options.ray_address,
            cpus_per_cell=options.cpus_per_cell,
            quiet=options.quiet,
        )
        return SpecRun(bench, outcome, write_bench_report(bench))


def open_bench(
    spec: str, overrides: Sequence[str], output_dir: str | None
) -> tuple[BenchSpec, list[Cell], BenchDir]:
    """The checked spec, its cells and its bench directory (refused when ``output_dir`` is a
    file or holds something else)."""
    from peftctl.bench.cells import expand
    from peftctl.bench.runner import default_output_dir
    from peftctl.bench.spec import find_spec, load_spec
    from peftctl.bench.store import BENCH_FILE, LOCK_FILE

    loaded = load_spec(spec, list(overrides))
    root = Path(output_dir).expanduser() if output_dir else default_output_dir(str(find_spec(spec)))
    if root.exists() and not root.is_dir():
        raise PeftctlError(f"--output-dir {root} is a file; pass a directory")
    ours = any((root / name).exists() for name in (BENCH_FILE, "probes", LOCK_FILE))
    if root.is_dir() and any(root.iterdir()) and not ours:
        raise PeftctlError(
            f"--output-dir {root} holds files but is not a bench directory; choose another"
        )
    return loaded, expand(loaded), BenchDir(root)


def plan_line(bench: BenchDir, cells: list[Cell], options: RunOptions) -> str:
    """``bench: 4 cells, 1 done, 3 to run -> DIR (local, 1 jobs); <estimate>``."""
    from peftctl.bench.plan import estimate_cells

    todo = [c for c in cells if bench.status(c.name) != "finished"]
    line = f"bench: {len(cells)} cells, {len(cells) - len(todo)} done, {len(todo)} to run"
    local = options.executor == "local"
    line += f" -> {bench.root} ({options.executor}" + (f", {options.jobs} jobs)" if local else ")")
    _, total = estimate_cells(bench, cells, jobs=options.jobs)
    return f"{line}; {total.line()}"


def write_bench_report(bench: BenchDir) -> dict[str, Path]:
    """Write the bench's report from its cells' records; ``{file name: path}``."""
    from peftctl.bench.report import write_report
    from peftctl.bench.store import cell_records

    title = f"Bench {bench.read_bench().get('source', bench.root)}"
    written = write_report(bench.root, cell_records(bench), title=title)
    return {p.name: p for p in written.values()}
