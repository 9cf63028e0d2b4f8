"""Routes of the staff domain (being written)."""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")
