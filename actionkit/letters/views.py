"""Routes of the letters domain (being written)."""
from flask import Blueprint

bp = Blueprint("letters", __name__)
