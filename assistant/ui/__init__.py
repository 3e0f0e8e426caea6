"""The Gradio chat window (see app.py for the wiring and handlers.py for the behaviour)."""

from .app import CSS, HEAD, build_app, launch, launch_options, serve, tables_html, ui_auth_from_env
from .chatlog import MAX_MESSAGES, Message, Session, log_html
from .handlers import FeedbackLog, Handlers, StreamTap, plain_messages
from .recommendations import KINDS, Recommendations, filter_items, items_from, markdown_to_pdf
from .sources import PdfPages, card_html, highlight, where
from .text import friendly_messages, lang_of, question_problem
from .text import h as esc_text

__all__ = [
    "CSS",
    "HEAD",
    "build_app",
    "launch",
    "launch_options",
    "serve",
    "tables_html",
    "ui_auth_from_env",
    "MAX_MESSAGES",
    "Message",
    "Session",
    "log_html",
    "FeedbackLog",
    "Handlers",
    "StreamTap",
    "plain_messages",
    "KINDS",
    "Recommendations",
    "filter_items",
    "items_from",
    "markdown_to_pdf",
    "PdfPages",
    "card_html",
    "highlight",
    "where",
    "esc_text",
    "friendly_messages",
    "lang_of",
    "question_problem",
]
