"""The notebook-style example of python/README.md, run as a script."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def example_code():
    text = README.read_text()
    blocks = re.findall(r"<!-- example -->\s*```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "python/README.md has one ```python block after <!-- example -->"
    return blocks[0]


def test_readme_example_runs(firmware, tf_keras, tmp_path):
    env = dict(os.environ, MICRODENSE_FIRMWARE=str(firmware))
    done = subprocess.run([sys.executable, "-c", example_code()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Epoch 1/1" in done.stdout
    assert "device accuracy" in done.stdout and "tuned in Keras" in done.stdout
