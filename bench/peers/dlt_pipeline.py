"""The dlt peer: a ``rest_api`` source for the JobSphere API, loaded into a DuckDB file.

This file runs only inside ``bench/.dlt-venv`` (dlt is never a dependency of the product), as a
script: ``bench/.dlt-venv/bin/python bench/peers/dlt_pipeline.py --base-url URL --db FILE
--pipelines-dir DIR --mode full|incremental``. It is configured the way a dlt user would write it
for this API: page-number paging that stops after ``ceil(meta.total / limit)`` pages, Bearer auth,
primary key ``id``, merge write disposition, and for ``incremental`` a ``posted_at`` cursor with
``row_order="desc"`` so dlt stops paging once it reaches rows it has already loaded (the API lists
newest first). It prints one JSON line with the rows in the destination table afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

# dlt must neither phone home nor read a user's config; set before dlt is imported.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import rest_api_source

__all__ = ["TotalItemsPaginator", "build_source", "main"]

PAGE_LIMIT = 100
DATASET = "jobsphere"
TABLE = "jobs"


class TotalItemsPaginator(PageNumberPaginator):
    """Page numbers from 1, stopping after the page that holds item ``meta.total``.

    dlt's ``total_path`` counts pages, while this API's ``meta.total`` counts items, so the page
    count is derived here; without it dlt would only stop at the first empty page (one extra
    request per run).
    """

    def __init__(self) -> None:
        super().__init__(base_page=1, page_param="page", total_path=None, maximum_page=None)

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        meta = response.json().get("meta") or {}
        total, limit = int(meta.get("total", 0)), int(meta.get("limit") or PAGE_LIMIT)
        self.maximum_value = math.ceil(total / limit) + self.base_index
        super().update_state(response, data)


def build_source(base_url: str, api_key: str, incremental: bool) -> Any:
    """The ``rest_api`` source with one ``jobs`` resource."""
    endpoint: dict[str, Any] = {
        "path": "jobs",
        "params": {"limit": PAGE_LIMIT},
        "data_selector": "data",
    }
    if incremental:
        endpoint["incremental"] = {
            "cursor_path": "posted_at",
            "initial_value": "1970-01-01T00:00:00Z",
            "row_order": "desc",
        }
    return rest_api_source(
        {
            "client": {
                "base_url": base_url.rstrip("/") + "/",
                "auth": {"type": "bearer", "token": api_key},
                "paginator": TotalItemsPaginator(),
            },
            "resources": [
                {
                    "name": TABLE,
                    "endpoint": endpoint,
                    "primary_key": "id",
                    "write_disposition": "merge",
                }
            ],
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one load and print ``{"rows": N, "mode": ...}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default=os.environ.get("JOBSPHERE_API_KEY", "sandbox-key"))
    parser.add_argument("--db", required=True, help="DuckDB destination file")
    parser.add_argument("--pipelines-dir", required=True, help="dlt's working and state directory")
    parser.add_argument("--mode", choices=("full", "incremental"), default="full")
    args = parser.parse_args(argv)

    pipeline = dlt.pipeline(
        pipeline_name=f"jobsphere_{args.mode}",
        pipelines_dir=args.pipelines_dir,
        destination=dlt.destinations.duckdb(args.db),
        dataset_name=DATASET,
    )
    info = pipeline.run(build_source(args.base_url, args.api_key, args.mode == "incremental"))
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"SELECT count(*) FROM {DATASET}.{TABLE}")[0][0]
    sys.stdout.write(json.dumps({"rows": int(rows), "mode": args.mode}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
