"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""
import gc

from app import create_app

app = create_app()

# Objects built at start-up live forever; moving them out of the cyclic GC's
# reach removes most of the p99 latency tail (see PERFORMANCE.md).
gc.collect()
gc.freeze()
