# The qanat image used by compose.yaml for `qanat serve` and `qanat worker`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY qanat ./qanat
RUN pip install --no-cache-dir . && useradd --create-home qanat
USER qanat
ENV QANAT_ATTACHMENTS_DIR=/data/files
EXPOSE 8000
CMD ["qanat", "serve", "--host", "0.0.0.0", "--port", "8000"]
