import os
import sys
from pathlib import Path

# headless by default; export QT_QPA_PLATFORM=xcb (under xvfb-run) for a real X server
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
