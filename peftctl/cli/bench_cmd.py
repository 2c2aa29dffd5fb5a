"""``peftctl bench run|plan|validate|status|report|list``: compare methods under identical
conditions. Spec checking, listing and status never import torch; cells run in workers."""

from __future__ import annotations

from pathlib import Path

import typer

SPEC_ARG = typer.Argument(..., help="Bench spec: a shipped name (`peftctl bench list`) or YAML.")
OVERRIDES_ARG = typer.Argument(
    None, help="Dotted overrides such as seeds=[0] budget.max_steps=3 dataset.max_eval_samples=16."
)
OUTPUT_OPTION = typer.Option(
    None, "--output-dir", "-o", help="Bench directory; default runs/bench/<spec name>."
)
DIR_ARG = typer.Argument(..., help="A bench directory (the --output-dir of `bench run`).")

bench_app = typer.Typer(
    help="Compare methods x datasets x seeds under one budget; tables and plots.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@bench_app.command("run")
def run(
    spec: str = SPEC_ARG,
    overrides: list[str] = OVERRIDES_ARG,
    output_dir: str = OUTPUT_OPTION,
    jobs: int = typer.Option(1, "--jobs", "-j", help="Cells at once (local executor)."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster; default auto."),
    cpus_per_cell: int = typer.Option(
        None, "--cpus-per-cell", help="Threads (Ray: CPUs reserved) per cell; default cores/jobs."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Run the cells of SPEC that have no result yet, then write the report."""
    from peftctl.bench.session import RunOptions, run_spec

    options = RunOptions(jobs, executor, ray_address, cpus_per_cell, quiet)
    try:
        done = run_spec(spec, overrides or [], output_dir, options, say=typer.echo)
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: run the same command again to go on (finished cells are kept; "
            "interrupted ones continue from their last checkpoint)",
            err=True,
        )
        raise typer.Exit(130) from None
    outcome, root = done.outcome, done.bench.root
    typer.echo(
        f"done: {len(outcome.finished)} finished, {len(outcome.failed)} failed, "
        f"{outcome.skipped} already done, in {outcome.wall_seconds:.0f} s "
        f"(cells {outcome.cell_seconds:.0f} s); report {done.report.get('summary.md', root)}"
    )
    if outcome.failed:
        typer.echo(
            f"{len(outcome.failed)} cells failed: `peftctl bench status {root}` shows "
            "why; run the same command again to retry them",
            err=True,
        )
        raise typer.Exit(1)


@bench_app.command("validate")
def validate(spec: str = SPEC_ARG, overrides: list[str] = OVERRIDES_ARG) -> None:
    """Check SPEC and every cell's recipe without loading anything heavy."""
    from peftctl.bench.cells import expand
    from peftctl.bench.spec import find_spec, load_spec

    loaded = load_spec(spec, overrides or [])
    cells = expand(loaded)
    lrs = sum(max(len(m.lrs), 1) for m in loaded.method_entries)
    typer.echo(
        f"ok: {find_spec(spec)}: {len(cells)} cells ({len(loaded.method_entries)} methods, "
        f"{lrs} method x lr, {len(loaded.dataset_entries)} datasets, {len(loaded.seeds)} seeds), "
        f"model {loaded.model}"
    )


@bench_app.command("plan")
def plan(
    spec: str = SPEC_ARG,
    overrides: list[str] = OVERRIDES_ARG,
    output_dir: str = OUTPUT_OPTION,
    jobs: int = typer.Option(1, "--jobs", "-j", help="Cells at once, for the total."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The cells SPEC would run, each with a time and peak-memory estimate measured by a short
    probe on this machine (probes are cached in the bench directory)."""
    from peftctl.bench.plan import estimate_cells, probe_missing
    from peftctl.bench.session import open_bench
    from peftctl.cli.listing import print_records

    _, cells, bench = open_bench(spec, overrides or [], output_dir)
    probe_missing(bench, cells, quiet=as_json)
    rows, total = estimate_cells(bench, cells, jobs=jobs)
    print_records(f"Bench plan: {spec}", _PLAN_COLUMNS, rows, as_json)
    if not as_json:
        typer.echo(total.line())


_PLAN_COLUMNS = ["cell", "status", "steps", "s/step", "est. minutes", "est. peak GB"]


@bench_app.command("status")
def status(
    bench_dir: str = DIR_ARG,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead."),
) -> None:
    """Each cell of a bench directory and its state (finished, failed + why, running...)."""
    from peftctl.bench.store import BenchDir, cell_records
    from peftctl.cli.listing import print_records

    bench = BenchDir(Path(bench_dir).expanduser())
    rows = [_status_row(record) for record in cell_records(bench)]
    print_records(f"Bench {bench.root}", _STATUS_COLUMNS, rows, as_json)
    if not as_json:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        typer.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


_STATUS_COLUMNS = ["cell", "status", "test score", "seconds", "error"]


@bench_app.command("report")
def report(bench_dir: str = DIR_ARG) -> None:
    """Write results.csv, summary.md/.csv, table.tex and plots for a bench directory."""
    from peftctl.bench.session import write_bench_report
    from peftctl.bench.store import BenchDir

    bench = BenchDir(Path(bench_dir).expanduser())
    paths = write_bench_report(bench)
    typer.echo(f"report: {', '.join(str(p) for p in paths.values())}")


@bench_app.command("list")
def list_specs(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead."),
) -> None:
    """The bench specs shipped with peftctl."""
    from peftctl.bench.spec import shipped_specs
    from peftctl.cli.listing import print_records
    from peftctl.yaml_files import read_yaml

    rows = []
    for name, path in shipped_specs().items():
        data = read_yaml(path)
        rows.append({"name": name, "description": data.get("description", ""), "path": str(path)})
    print_records("Bench specs", ["name", "description"], rows, as_json)


def _status_row(record: dict) -> dict:
    metric = record.get("primary_metric")
    value = (record.get("test") or {}).get("metrics", {}).get(metric)
    return {
        "cell": record["name"],
        "status": record["status"],
        "test score": f"{metric} {value:.4f}" if isinstance(value, (int, float)) else "",
        "seconds": record.get("cell_seconds", ""),
        "error": record.get("error") or "",
    }


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
