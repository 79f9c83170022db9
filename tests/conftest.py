import os

from hypothesis import settings

# Derandomised in CI so a red run is reproducible; a local run explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
