"""The Ray engine: the same work as the local pool (`engine.rows_of`) on Ray Data — the inputs in
windows of WINDOW files, each a dataset mapped by a pool of actors (`map_batches` with a callable
class that loads the model once), its rows taken back in order a chunk at a time and written as
the local engine writes them. `address`: a running cluster ("auto", or ray://HOST:PORT); without
one, a local cluster of `workers` CPUs starts for the run. Ray is the `scale` extra, imported
only here."""

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from digitrec.batch.engine import Summary, Work, prepared, rows_of, skip_done, write_rows
from digitrec.batch.results import Results
from digitrec.errors import DataError
from digitrec.extras import require

WINDOW = 20_000  # files per Ray dataset: paths held by the driver at once (the actors restart)


class RowsOf:
    """A Ray actor's work: a batch of paths -> the same batch of rows, as JSON text. (Ray's own
    core worker prints one line about constructor arguments in its object store, ray#53727:
    its map workers' own, not ours.)"""

    def __init__(self, work: Work) -> None:
        from digitrec.batch.engine import start_worker

        start_worker(work)
        self.work = work

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = rows_of(self.work, [str(path) for path in batch["path"]])
        return {"row": np.array([json.dumps(row) for row in rows], dtype=object)}


def run_ray(
    work: Work,
    inputs: Iterator[str],
    results: Results,
    *,
    workers: int,
    chunk: int,
    address: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Summary:
    """Read every input the results do not hold yet, on Ray, appending the rows in order."""
    ray = require("ray")
    require("ray.data")  # before quieting its loggers: importing it configures them
    summary = Summary()
    inputs = skip_done(inputs, results, summary)
    first = list(itertools.islice(inputs, WINDOW))
    if not first:
        return summary.finish()
    work = prepared(work)
    local = not address
    for name in ("ray", "ray.data"):  # digitrec's own spinner and summary say how it goes
        logging.getLogger(name).setLevel(logging.ERROR)
    if not ray.is_initialized():
        ray.init(
            address=address or None,
            num_cpus=workers if local else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in the inputs' order
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        window = first
        while window:
            dataset = ray.data.from_items([{"path": path} for path in window])
            mapped = dataset.map_batches(
                RowsOf,
                fn_constructor_args=(work,),
                batch_size=chunk,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=1,
            )
            try:
                for batch in mapped.iter_batches(batch_size=chunk, batch_format="numpy"):
                    write_rows(results, summary, [json.loads(row) for row in batch["row"]],
                               on_progress)  # fmt: skip
            except ray.exceptions.RayError as error:  # an actor died, or Ray itself failed
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise DataError(
                    f"Ray failed after {summary.done:,} files of this run ({type(error).__name__}"
                    f"{': ' + first_line if first_line else ''}); the same command resumes"
                ) from None
            window = list(itertools.islice(inputs, WINDOW))
    finally:
        if local:
            ray.shutdown()
    return summary.finish()
