"""A local Telegram Bot API on 127.0.0.1 (stdlib only) that the real python-telegram-bot stack talks
to.

The offline demo runs the real bot against it and prints every message; the tests drive the bot
through it. Based on the server verified in shared/specs/telegram-bot.md (appendix), extended with
sendPhoto (multipart), editMessageReplyMarkup, getChat, a record of every call (setMyCommands
included) and an optional `on_call` hook.

It refuses what Telegram refuses (jobs/demo/telegram_rules.py): HTML outside Telegram's tag set or
with unescaped `<`, `>`, `&`; texts over 4,096 characters, captions over 1,024; callback data
outside 1-64 bytes; an edit of a message the bot never sent or without a change; an answer to a
callback query it never delivered, a second answer, or one later than 15 s. Updates stay queued
until a getUpdates with a higher offset confirms them, as on Telegram.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from jobs.demo import telegram_rules as rules

JSON_PARAMS = (
    "reply_markup",
    "allowed_updates",
    "commands",
    "entities",
    "scope",
    "reply_parameters",
    "link_preview_options",
)
CALLBACK_ANSWER_SECONDS = (
    15.0  # Telegram stops accepting an answer to a callback query after about this long
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class BadRequest(Exception):
    """A request Telegram answers with 400 and this description."""


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that ignores clients hanging up mid-answer (a long poll cut at
    shutdown)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalBotApi:
    """Queue updates for getUpdates, record every call, answer like the Bot API, inject errors per
    method."""

    def __init__(
        self,
        token: str,
        bot_user: dict,
        on_call: Callable[[str, dict], None] | None = None,
        answer_window: float = CALLBACK_ANSWER_SECONDS,
    ):
        self.token, self.bot_user, self.on_call = token, bot_user, on_call
        self.answer_window = answer_window
        self.updates: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.errors: dict[str, list[tuple[int, dict]]] = {}
        self.refused: list[tuple[str, dict, str]] = []  # (method, params, description) of every 400
        self.messages: dict[
            tuple[int, int], tuple[str, object]
        ] = {}  # (chat, id) -> (visible text, markup)
        self.queries: dict[
            str, dict
        ] = {}  # callback query id -> {"pushed": t, "answered": t | None, "text"}
        self.cond = threading.Condition()
        self._uid, self._mid = itertools.count(900000001), itertools.count(1000)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = (
                "HTTP/1.1"  # keep-alive, as api.telegram.org: no new connection per call
            )

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, b"")

            def do_POST(self):
                fake._handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    # test side
    def push_update(self, update: dict) -> int:
        """Queue one update for the next getUpdates; return its update_id."""
        with self.cond:
            update = dict(update)
            update.setdefault("update_id", next(self._uid))
            query = update.get("callback_query")
            if isinstance(query, dict) and query.get("id"):
                self.queries[str(query["id"])] = {"pushed": time.monotonic(), "answered": None}
            self.updates.append(update)
            self.cond.notify_all()
        return update["update_id"]

    def post_message(self, chat_id: int, text: str, reply_markup: dict | None = None) -> int:
        """Record a message as if the bot had sent it earlier (a card from before a restart); return
        its id."""
        with self.cond:
            message_id = next(self._mid)
            self.messages[(chat_id, message_id)] = (text, reply_markup)
        return message_id

    def answer_latencies(self) -> dict[str, float | None]:
        """Return seconds from each pushed callback query to its accepted answer (None: never
        answered)."""
        with self.cond:
            return {
                qid: (q["answered"] - q["pushed"] if q["answered"] is not None else None)
                for qid, q in self.queries.items()
            }

    def pending_updates(self) -> int:
        """Return how many updates are queued and not yet confirmed by the bot."""
        with self.cond:
            return len(self.updates)

    def fail_next(self, method: str, status: int, body: dict) -> None:
        """Answer the next call of `method` with this HTTP status and error body."""
        self.errors.setdefault(method.lower(), []).append((status, body))

    def calls_to(self, method: str) -> list[dict]:
        """Return the parameters of every call of `method` so far."""
        return [params for name, params in list(self.calls) if name == method.lower()]

    async def wait_for(
        self, method: str, n: int = 1, timeout: float = 5.0, where=None
    ) -> list[dict]:
        """Wait (without blocking the event loop) until `method` was called n times (matching
        `where`)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = [p for p in self.calls_to(method) if where is None or where(p)]
            if len(found) >= n:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {n}x {method}: {[name for name, _ in self.calls]}")

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    # server side
    def _params(self, handler, body: bytes) -> dict:
        params = {k: v[-1] for k, v in parse_qs(urlparse(handler.path).query).items()}
        content_type = handler.headers.get("Content-Type") or ""
        kind = content_type.split(";")[0].strip()
        if kind == "application/json" and body:
            params.update(json.loads(body))
        elif kind == "application/x-www-form-urlencoded" and body:
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        elif kind == "multipart/form-data" and body:
            params.update(_multipart(content_type, body))
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _reply(self, handler, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler, body: bytes) -> None:
        path, prefix = urlparse(handler.path).path, f"/bot{self.token}/"
        if not path.startswith(prefix):
            return self._reply(
                handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        method = path[len(prefix) :].lower()  # Bot API method names are case-insensitive
        params = self._params(handler, body)
        self.calls.append((method, params))
        if self.on_call is not None:
            self.on_call(method, params)
        if self.errors.get(method):
            status, error = self.errors[method].pop(0)
            return self._reply(handler, status, error)
        answer = getattr(self, "m_" + method, None)
        if answer is None:
            return self._reply(
                handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            )
        try:
            result = answer(params)
        except BadRequest as refusal:
            self.refused.append((method, params, str(refusal)))
            refused = {"ok": False, "error_code": 400, "description": str(refusal)}
            return self._reply(handler, 400, refused)
        self._reply(handler, 200, {"ok": True, "result": result})

    def m_getme(self, params):
        return self.bot_user

    def m_deletewebhook(self, params):
        return True

    def m_setmycommands(self, params):
        _refuse_if(rules.commands_refusal(params.get("commands"), params.get("language_code")))
        return True

    def m_answercallbackquery(self, params):
        _refuse_if(rules.text_refusal(params.get("text"), None, rules.MAX_ANSWER, empty_ok=True))
        with self.cond:
            query = self.queries.get(str(params.get("callback_query_id")))
            now = time.monotonic()
            if query is None or query["answered"] is not None:
                raise BadRequest(QUERY_INVALID)
            if now - query["pushed"] > self.answer_window:
                raise BadRequest(QUERY_INVALID)
            query["answered"], query["text"] = now, params.get("text")
        return True

    def m_getchat(self, params):
        chat_id = int(params["chat_id"])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Trader"}
        return {"id": chat_id, "type": "supergroup", "title": "signaldesk"}

    def m_getupdates(self, params):
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        with self.cond:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                self.cond.wait(min(timeout, 1.0))
            return self.updates[:limit]

    def _message(self, params, **extra) -> dict:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._mid),
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
        }
        if "text" in params:
            message["text"] = params["text"]
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        message.update(extra)
        return message

    def _checked(self, params, field: str = "text", limit: int = rules.MAX_TEXT) -> str:
        """Refuse what Telegram refuses in a text (or caption) and its keyboard; return the visible
        text."""
        _refuse_if(
            rules.text_refusal(
                params.get(field), params.get("parse_mode"), limit, empty_ok=field == "caption"
            )
        )
        _refuse_if(rules.markup_refusal(params.get("reply_markup")))
        return rules.parsed_text(params.get(field) or "", params.get("parse_mode"))

    def _reply_target(self, params) -> None:
        """Refuse a reply to a message that does not exist in the chat (unless allowed), as
        Telegram does."""
        target = params.get("reply_parameters")
        if not isinstance(target, dict):
            return
        key = (int(target.get("chat_id") or params["chat_id"]), int(target["message_id"]))
        with self.cond:
            known = key in self.messages
        if not known and not target.get("allow_sending_without_reply"):
            raise BadRequest("Bad Request: message to be replied not found")

    def m_sendmessage(self, params):
        visible = self._checked(params)
        self._reply_target(params)
        message = self._message(params)
        message["text"] = (
            visible  # Telegram answers with the parsed text (and entities), not the HTML sent
        )
        with self.cond:
            self.messages[(message["chat"]["id"], message["message_id"])] = (
                visible,
                message.get("reply_markup"),
            )
        return message

    def m_sendphoto(self, params):
        self._checked(params, "caption", rules.MAX_CAPTION)
        photo = params.get("photo")
        size = len(photo) if isinstance(photo, bytes) else 0
        return self._message(
            params,
            caption=params.get("caption", ""),
            photo=[
                {
                    "file_id": "fake-photo",
                    "file_unique_id": "fake-photo-u",
                    "width": 800,
                    "height": 350,
                    "file_size": size,
                }
            ],
        )

    def _edit(self, params, visible: str | None) -> dict:
        """Apply an edit of one of the bot's messages, refusing an unknown message or an edit that
        changes nothing."""
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self.cond:
            if key not in self.messages:
                raise BadRequest("Bad Request: message to edit not found")
            old_text, old_markup = self.messages[key]
            new = (old_text if visible is None else visible, params.get("reply_markup") or None)
            if new == (old_text, old_markup or None):
                raise BadRequest(NOT_MODIFIED)
            self.messages[key] = new
        message = self._message(params, edit_date=int(time.time()))
        message["message_id"] = key[1]
        message["text"] = new[0]
        return message

    def m_editmessagetext(self, params):
        return self._edit(params, self._checked(params))

    def m_editmessagereplymarkup(self, params):
        _refuse_if(rules.markup_refusal(params.get("reply_markup")))
        return self._edit(params, None)


def _refuse_if(description: str | None) -> None:
    """Raise BadRequest with Telegram's description when a check found something Telegram
    refuses."""
    if description:
        raise BadRequest(description)


def _multipart(content_type: str, body: bytes) -> dict:
    """Decode a multipart/form-data body: file parts as bytes, other parts as text."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        params[name] = data if part.get_filename() else data.decode()
    return params
