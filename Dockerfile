# The image of the dashboard and of the HTTP API (docker-compose.yml runs one container of each). Runs as a non-root user; secrets come from the environment, never the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOGISTICS_DATA_DIR=/data

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY core ./core
COPY api ./api
COPY dashboard ./dashboard
COPY pages ./pages
COPY locale ./locale
RUN pybabel compile -d locale -D messages
COPY .streamlit ./.streamlit

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /data && chown app:app /data
USER app

EXPOSE 8501 8502
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)" || exit 1

# Migrate (and create the first admin) before serving; exec so signals reach streamlit.
CMD ["sh", "-c", "python -m core db upgrade && exec streamlit run dashboard/app.py --server.port 8501 --server.address 0.0.0.0"]
