"""Routes of the delivery domain (being written)."""
from flask import Blueprint

bp = Blueprint("delivery", __name__, url_prefix="/staff/deliveries")
