"""Imports the indexer once, then forks one `rag index --rebuild` per line read on stdin.

Forking a ready process saves the seconds of imports each killed round would otherwise
spend before it writes anything. Protocol, one JSON object a line on stdout:
{"pid": N} when a child starts, {"build": id} if it finishes, {"exit": status} when it ends.
"""

from __future__ import annotations

import json
import os
import sys

from index.embeddings import build_embed_model
from rag.service import run_indexing
from rag.settings import RagSettings


def main() -> None:
    settings = RagSettings()
    embed_model = build_embed_model(settings)
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                report = run_indexing(settings, rebuild=True, embed_model=embed_model)
                print(json.dumps({"build": report.build_id}), flush=True)
                code = 0
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": status}), flush=True)


if __name__ == "__main__":
    main()
