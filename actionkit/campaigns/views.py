"""Routes of the campaigns domain (being written)."""
from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/staff/campaigns")
