"""`openai`: an OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama, hosted APIs) through
the official `openai` package, one request per segment, `concurrency` requests at a time.

The API key is read from the environment variable named by `api_key_env`; it never appears in the config, the
translation cache's fingerprint, the results or an error message. Without it a dummy key is sent (local servers
need none). Rate limits (429), server errors (5xx), timeouts and refused connections are retried by the
client, `max_retries` times, with exponential backoff (0.5 s, 1 s, 2 s, ... up to 8 s, or what the server's
Retry-After asks for, up to two minutes). An empty or whitespace-only reply is no translation either: it is
retried the same way, then reported in one line and never cached, unless the config says that empty outputs
are real (`allow_empty: true`).
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from evalharness import langcodes, secrets
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.systems import decoding
from evalharness.systems.base import AFFECTS_OUTPUT, WHEN_SAMPLING, WHEN_SET
from evalharness.systems.context import RunContext
from evalharness.systems.translation import TranslationConfigBase, TranslationSystem, check_languages

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

DEFAULT_SYSTEM_PROMPT = "You are a professional translator."
DEFAULT_USER_TEMPLATE = (
    "Translate the following {src_name} text into {tgt_name}. Reply with the {tgt_name} "
    "translation only, on a single line, without quotes, notes or explanations.\n\n{source}"
)
PLACEHOLDERS = {"src_name": "German", "tgt_name": "English", "source": "Hallo"}
DUMMY_KEY = "EMPTY"

# Decoding settings a chat-completions request has no use for: a value other than the default is an error.
UNUSED = ("num_beams", "length_penalty", "dtype", "device", "batch_size")
NOT_USED = "not used by the openai engine (leave it out)"


class OpenAIConfig(TranslationConfigBase):
    """The server, the model, the prompt and the decoding settings a request sends make the outputs; how the
    requests are made (key, concurrency, retries, timeout) does not. Greedy requests send temperature 0: the
    sampling settings enter the key only when sampling."""

    engine: Literal["openai"]
    base_url: str = Field(
        description="the API's base URL, usually ending in /v1 (http://localhost:8000/v1)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    model: str = Field(description="the model name the server knows", json_schema_extra={AFFECTS_OUTPUT: True})
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="NAME of the environment variable that holds the key; unset: no key",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    concurrency: int = Field(
        strict=True,
        default=4,
        ge=1,
        le=256,
        description="requests in flight at once",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    max_retries: int = Field(
        strict=True,
        default=5,
        ge=0,
        description="retries of a request on 429, 5xx, timeouts, no connection",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    timeout: float = Field(
        default=60, gt=0, description="seconds per request", json_schema_extra={AFFECTS_OUTPUT: False}
    )
    allow_empty: bool = Field(
        default=False,
        description="an empty reply is a translation (cached); false: a failure, retried, never cached",
        json_schema_extra={AFFECTS_OUTPUT: WHEN_SET},  # added later: caches made before it stay valid
    )
    system_prompt: str = Field(
        default=DEFAULT_SYSTEM_PROMPT,
        description="the system message ('' for none); {src_name} {tgt_name} filled in",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    user_template: str = Field(
        default=DEFAULT_USER_TEMPLATE,
        description="the user turn; {src_name} {tgt_name} {source}",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    # Decoding settings as a chat-completions request uses them.
    temperature: float = decoding.field("temperature", affects_output=WHEN_SAMPLING)
    top_p: float = decoding.field("top_p", affects_output=WHEN_SAMPLING)
    seed: int | None = decoding.field("seed", affects_output=WHEN_SAMPLING)
    num_beams: int = decoding.field("num_beams", description=NOT_USED, affects_output=False)
    length_penalty: float = decoding.field("length_penalty", description=NOT_USED, affects_output=False)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = decoding.field(
        "dtype", description=NOT_USED, affects_output=False
    )
    device: str = decoding.field("device", description=NOT_USED, affects_output=False)
    batch_size: int = decoding.field("batch_size", description=NOT_USED, affects_output=False)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            # Most likely the key itself, pasted where its variable's name belongs: never repeat it.
            raise ValueError(
                "expected the NAME of an environment variable (letters, digits, _), such as "
                "OPENAI_API_KEY, not the key itself (the value is not shown)"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("system_prompt", "user_template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(**PLACEHOLDERS)
        except KeyError as err:
            raise ValueError(
                f"unknown placeholder {{{err.args[0]}}} (known: {{src_name}} {{tgt_name}} {{source}})"
            ) from err
        except (ValueError, IndexError) as err:
            raise ValueError(f"not a valid template ({err}); write a literal brace as {{{{ or }}}}") from err
        return value

    @model_validator(mode="after")
    def _checks(self):
        if "{source}" not in self.user_template:
            raise ValueError("user_template must contain {source}")
        for key in UNUSED:
            if getattr(self, key) != decoding.SETTINGS[key].default:
                raise ValueError(f"{key} is not used by the openai engine (leave it out)")
        return self


def backoff(retry: int) -> float:
    """Seconds before retry number `retry` (0-based) of an empty reply: the client's own schedule for a 5xx."""
    return min(0.5 * 2**retry, 8.0)


def _times(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _one_line(text: object, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OpenAISystem(TranslationSystem):
    config_model = OpenAIConfig
    cfg: OpenAIConfig
    # Every reply is paid for (and takes far longer than a SQLite transaction): cached the moment it arrives,
    # so that even `kill -9` loses none.
    flush_segments = 1

    @classmethod
    def settings(cls) -> frozenset[str]:
        return super().settings() - set(UNUSED)

    def check(self, dataset: Dataset) -> None:
        check_languages(self.name, dataset, langcodes.name)

    def identity(self) -> dict:
        return {"base_url": self.cfg.base_url, "model": self.cfg.model}

    def _key(self) -> str:
        key = os.environ.get(self.cfg.api_key_env) if self.cfg.api_key_env else None
        if key:
            secrets.remember(key, f"${{{self.cfg.api_key_env}}}")
        return key or DUMMY_KEY

    def request_options(self) -> dict:
        options: dict[str, Any] = {"max_tokens": self.cfg.max_new_tokens}
        if self.cfg.do_sample:
            options.update(temperature=self.cfg.temperature, top_p=self.cfg.top_p)
            if self.cfg.seed is not None:
                options["seed"] = self.cfg.seed
        else:
            options["temperature"] = 0
        return options

    def messages(self, source: str, src_lang: str, tgt_lang: str) -> list[ChatCompletionMessageParam]:
        names = {"src_name": langcodes.name(src_lang), "tgt_name": langcodes.name(tgt_lang)}
        messages: list[ChatCompletionMessageParam] = []
        if self.cfg.system_prompt:
            messages.append({"role": "system", "content": self.cfg.system_prompt.format(**names, source=source)})
        messages.append({"role": "user", "content": self.cfg.user_template.format(**names, source=source)})
        return messages

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        try:
            from openai import OpenAI
        except ImportError as err:
            raise UserError(
                f"system {self.name}: the openai engine needs the openai package (pip install 'evalharness[api]')"
            ) from err

        # The client sends user:password@ of the URL as `Authorization: Basic <base64>`, which a server may echo.
        secrets.remember_url_credentials(self.cfg.base_url)
        messages = [self.messages(source, src_lang, tgt_lang) for source in sources]
        options = self.request_options()
        client = OpenAI(
            base_url=self.cfg.base_url, api_key=self._key(), max_retries=self.cfg.max_retries, timeout=self.cfg.timeout
        )

        def one(source: str, turns: list[ChatCompletionMessageParam]) -> str:
            """The translation; an empty reply is asked again like a 5xx, `max_retries` times."""
            for retry in range(self.cfg.max_retries + 1):
                if retry:
                    time.sleep(backoff(retry - 1))
                text = ask(source, turns)
                if text or self.cfg.allow_empty:
                    return text
            raise UserError(
                f"system {self.name}: {self.cfg.base_url} answered 200 with an empty reply for the segment "
                f"{source[:60]!r} after {_times(self.cfg.max_retries, 'retry', 'retries')}: no translation (nothing "
                "was cached for it; set allow_empty: true if empty outputs are real for this system)"
            )

        def ask(source: str, turns: list[ChatCompletionMessageParam]) -> str:
            where = f"system {self.name}: {self.cfg.base_url} answered 200 for the segment {source[:60]!r} with"
            try:
                reply = client.chat.completions.create(model=self.cfg.model, messages=turns, **options)
            except ValueError as err:  # json.JSONDecodeError: the client parses the body before checking it
                raise UserError(f"{where} a body that is not JSON ({err})") from err
            # A reply without a message is no translation: an error (never cached), not an empty output that a
            # rerun would keep scoring after the server is fixed.
            try:
                content = reply.choices[0].message.content if reply.choices else None
            except (AttributeError, TypeError, IndexError, KeyError) as err:
                raise UserError(f"{where} JSON that is not a chat completion ({err})") from err
            if content is not None and not isinstance(content, str):
                raise UserError(f"{where} JSON that is not a chat completion (content is {type(content).__name__})")
            if content is None:
                what = "no choices" if not reply.choices else "a message without content"
                raise UserError(
                    f"system {self.name}: {self.cfg.base_url} answered 200 with {what} for the segment "
                    f"{source[:60]!r}: no translation (nothing was cached for it)"
                )
            lines = content.strip().split("\n")
            return lines[0].strip()

        executor = ThreadPoolExecutor(max_workers=self.cfg.concurrency, thread_name_prefix=f"openai-{self.name}")
        queue = iter(enumerate(zip(sources, messages, strict=True)))
        running: dict[Future[str], int] = {}

        def send_next() -> None:
            """One more segment sent: at most `concurrency` requests are out at a time, so after a failure nothing
            new is sent (what a failed run paid for does not depend on thread timing)."""
            item = next(queue, None)
            if item is not None:
                i, (source, turns) = item
                running[executor.submit(one, source, turns)] = i

        try:
            for _ in range(self.cfg.concurrency):
                send_next()
            while running:
                # Each reply is handed over (and cached) as it arrives, so a run killed mid-way has paid for
                # nothing it loses; after a failure the requests still out are awaited and their replies handed
                # over too, then the error is raised.
                done, _ = wait(set(running), return_when=FIRST_COMPLETED)
                failed = []
                for future in done:
                    i = running.pop(future)
                    if future.exception() is None:
                        yield i, future.result()
                    else:
                        failed.append(future)
                if failed:
                    for future in as_completed(list(running)):
                        if future.exception() is None:
                            yield running[future], future.result()
                    error = failed[0].exception()
                    assert error is not None  # `failed` holds the futures that raised
                    raise self._user_error(error) from error
                for _ in done:
                    send_next()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            client.close()

    def _user_error(self, err: BaseException) -> BaseException:
        """A one-line UserError for what the server or the network said; anything else unchanged (a bug)."""
        import openai

        where = f"system {self.name}: {self.cfg.base_url}"
        key_env = self.cfg.api_key_env
        retries = _times(self.cfg.max_retries, "retry", "retries")
        tries = _times(self.cfg.max_retries + 1, "try", "tries")
        if isinstance(err, openai.AuthenticationError):
            if key_env is None:
                hint = "no key is sent (api_key_env is null); name the environment variable that holds it"
            elif not os.environ.get(key_env):
                hint = f"the key is read from the environment variable {key_env}, which is not set"
            else:
                hint = f"check the key in the environment variable {key_env}"
            return UserError(f"{where} rejected the API key (401 Unauthorized): {hint}")
        if isinstance(err, openai.PermissionDeniedError):
            return UserError(
                f"{where} denied access to model {self.cfg.model!r} (403 Forbidden): {self._server_message(err)}"
            )
        if isinstance(err, openai.NotFoundError):
            return UserError(
                f"{where} answered 404 Not Found for model {self.cfg.model!r}: the model name or the "
                f"base_url is wrong (it usually ends in /v1): {self._server_message(err)}"
            )
        if isinstance(err, openai.RateLimitError):
            return UserError(
                f"{where} is still rate-limiting (429) after {retries}: "
                f"{self._server_message(err)} (lower 'concurrency' or raise 'max_retries')"
            )
        if isinstance(err, openai.APIStatusError):
            return UserError(
                f"{where} answered {err.status_code}"
                + (f" after {retries}" if err.status_code >= 500 else "")
                + f": {self._server_message(err)}"
            )
        if isinstance(err, openai.APITimeoutError):
            return UserError(f"{where}: no answer within {self.cfg.timeout:g} s ({tries}; raise 'timeout')")
        if isinstance(err, openai.APIConnectionError):
            cause = err.__cause__ or err.__context__
            detail = f" ({_one_line(cause)})" if cause is not None and str(cause) else ""
            return UserError(f"{where}: cannot connect{self._redact(detail)} after {tries}; is the server running?")
        if isinstance(err, openai.APIError):
            return UserError(f"{where}: {self._server_message(err)}")
        return err

    def _server_message(self, err) -> str:
        body = getattr(err, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        return self._redact(_one_line(message or body or err.message))

    def _redact(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key != DUMMY_KEY and key else text
