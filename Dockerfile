# Image for the worker and the API (docker-compose.yml runs both from it; default: the worker).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# LightGBM's library (triage trees) links the GNU OpenMP runtime, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from pyproject.toml alone, so editing the code doesn't re-download them.
# They are resolved in one go on purpose (autogen pins protobuf; see pyproject.toml).
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

# Then the project itself: `pip install .` (dependencies already satisfied above).
COPY . .
# Bytecode for /app too: the image sets PYTHONDONTWRITEBYTECODE and the worker's workflow sandbox
# re-imports the workflow modules for every ticket, which would otherwise mean compiling them each time.
RUN pip install --no-deps . \
    && rm -rf build *.egg-info \
    && python -m compileall -q /app

# Run unprivileged. The code stays root-owned (read-only to the app); only data/ is writable,
# for local-mode files (e.g. an embedded Qdrant folder) when no server URL is configured.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/data \
    && chown app:app /app/data
USER app

EXPOSE 8000
CMD ["python", "worker.py"]
