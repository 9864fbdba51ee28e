# The qanat image compose.yaml runs: `qanat serve`, `qanat worker`, `qanat smtp` and the
# one-shot commands (`docker compose run --rm qanat …`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY qanat ./qanat
# The data folder and its attachments belong to the user qanat runs as: a named volume
# mounted there starts as a copy of them, owned by qanat, so attachments can be written.
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 qanat \
    && mkdir -p /data/files /etc/qanat \
    && chown -R qanat:qanat /data
USER qanat
ENV QANAT_HOME=/data \
    QANAT_ATTACHMENTS_DIR=/data/files \
    QANAT_LOG_FORMAT=json
EXPOSE 8000 2525
CMD ["qanat", "serve", "--host", "0.0.0.0", "--port", "8000"]
