"""Routes of the stats domain (being written)."""
from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
