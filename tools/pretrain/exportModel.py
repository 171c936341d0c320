#!/usr/bin/env python3
"""Copies a finished run's model (config.json, model.safetensors, generation_config.json) into a
shipped model folder, refusing if the folder's tokenizer.json is not the one the run trained with.

  python3 tools/pretrain/exportModel.py --run tools/pretrain/runs/hier --dest models/hdlm-tiny
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pretrain import export_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="a pretrain.py --out folder")
    p.add_argument("--dest", type=Path, required=True)
    args = p.parse_args()
    # The run's model/ folder holds a copy of the tokenizer it was trained with.
    export_model(args.run / "model", args.dest, args.run / "model")
    print(f"exported {args.run / 'model'} to {args.dest}")


if __name__ == "__main__":
    main()
