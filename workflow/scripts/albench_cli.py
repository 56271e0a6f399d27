"""Run the albench CLI from the workflow, whether or not albench is installed in the env.

With ``--sdm conda`` the job env holds albench's dependencies but not albench
itself (Snakemake blocks PYTHONPATH there), so the checkout's ``src/`` is put on
``sys.path`` when the import fails.
"""

import sys
from pathlib import Path

try:
    from albench.cli import main
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from albench.cli import main

sys.exit(main())
