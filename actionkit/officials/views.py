"""Routes of the officials domain (being written)."""
from flask import Blueprint

bp = Blueprint("officials", __name__, url_prefix="/staff/officials")
