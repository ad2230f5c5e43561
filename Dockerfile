# syntax=docker/dockerfile:1
#
# The agent's image (docs/install.md):
#
#   docker build --build-arg VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' \
#       orchestrator/__init__.py)" -t orchestrator:0.1.0 .
#
# Two stages: the builder turns the source into a wheel and installs it into a
# virtualenv; the runtime stage copies only that virtualenv onto the same Python base.
# The runtime runs as UID/GID 65532 and writes nowhere but /tmp and the Git cache
# (/var/cache/orchestrator), which a pod mounts as emptyDir volumes, so it runs with
# a read-only root filesystem. Git itself is pygit2's bundled libgit2 (no git binary);
# ssh-keygen (openssh-client) signs and verifies commits.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Every package, the build backend included, comes from the lock (make lock).
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONSTRAINT=/src/requirements/constraints.txt \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/constraints.txt ./requirements/
COPY orchestrator ./orchestrator
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/orchestrator \
    && /opt/orchestrator/bin/pip install --upgrade pip setuptools wheel \
    && /opt/orchestrator/bin/pip install /wheels/*.whl \
    && /opt/orchestrator/bin/orchestrator --version

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="orchestrator" \
      org.opencontainers.image.description="Per-cluster GitOps delivery agent with Git as its message bus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# Debian's security updates move package versions under a fixed tag; pinning them
# here would break the build at the next point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/cache/orchestrator/git \
    && chown -R 65532:65532 /var/cache/orchestrator
COPY --from=builder /opt/orchestrator /opt/orchestrator
ENV PATH=/opt/orchestrator/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    ORCHESTRATOR_VERSION=${VERSION} \
    ORCHESTRATOR_SERVER__BIND_ADDRESS=0.0.0.0
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080
# `docker run IMAGE` runs the agent; `docker run IMAGE status ...` any other command.
ENTRYPOINT ["orchestrator"]
CMD ["agent"]
