"""Routes of the privacy domain (being written)."""
from flask import Blueprint

bp = Blueprint("privacy", __name__)
