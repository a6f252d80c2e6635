"""Tools from an MCP server over stdio (the `mcp` package).

The server process and its client session live on a background event loop; each tool call is
sent there and waited for, so MCP tools are called like any other tool from generated code.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import BackendError, MissingExtraError, ToolError
from .tool import Tool

__all__ = ["MCPConnection", "MCPTool", "load_mcp_tools"]

_JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object"}


class MCPConnection:
    """A running MCP server (started from `command`) and a client session to it."""

    def __init__(self, command: list[str], *, env: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        try:
            from mcp import ClientSession, StdioServerParameters
            from mcp.client.stdio import stdio_client
        except ImportError as exc:
            raise MissingExtraError("mcp", "mcp", "MCP tools") from exc
        if not command:
            raise ToolError("an MCP server needs a command, e.g. 'mcp:python my_server.py'")
        self.command = command
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smolnb-mcp", daemon=True)
        self.thread.start()
        self._stack = contextlib.AsyncExitStack()
        params = StdioServerParameters(command=command[0], args=command[1:], env=env)
        # The server's own log and tracebacks go to a file, not to this process's stderr (in a
        # notebook, the cell): a failing tool's error names the file.
        from ..config import home

        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(command[-1]).stem or command[0])[:40]
        self.log_path = home() / "logs" / f"mcp-{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")

        async def connect() -> Any:
            read, write = await self._stack.enter_async_context(stdio_client(params, errlog=self._log))
            self.session = await self._stack.enter_async_context(ClientSession(read, write))
            await self.session.initialize()
            return (await self.session.list_tools()).tools

        try:
            self.tools = self._wait(connect())
        except Exception as exc:
            self.close()
            raise BackendError(f"the MCP server {' '.join(command)!r} did not start or answer: {exc}") from exc
        _connections.append(self)

    def _wait(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)

    def call(self, name: str, arguments: dict[str, Any]) -> Any:
        result = self._wait(self.session.call_tool(name, arguments=arguments))
        texts = [getattr(part, "text", None) for part in result.content]
        text = "\n".join(t for t in texts if t is not None)
        if getattr(result, "is_error", None) or getattr(result, "isError", None):
            raise ToolError(f"MCP tool {name!r} failed: {text or 'no message'} (server log: {self.log_path})")
        structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
        if structured is not None:
            return (
                structured.get("result", structured)
                if isinstance(structured, dict) and set(structured) == {"result"}
                else structured
            )
        return text

    def close(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stack.aclose(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self._log.close()


_connections: list[MCPConnection] = []


@atexit.register
def _close_all() -> None:
    for connection in _connections:
        connection.close()


class MCPTool(Tool):
    """One tool of an MCP server."""

    def __init__(self, connection: MCPConnection, spec: Any) -> None:
        self.connection = connection
        self.name = spec.name
        self.description = spec.description or f"MCP tool {spec.name}"
        schema = getattr(spec, "input_schema", None) or getattr(spec, "inputSchema", None) or {}
        required = set(schema.get("required", []))
        inputs = {}
        for key, prop in (schema.get("properties") or {}).items():
            kind = prop.get("type")
            entry: dict[str, Any] = {"type": kind if kind in _JSON_TYPES else "any", "description": prop.get("description", "")}
            if key not in required:
                entry["nullable"] = True
            inputs[key] = entry
        self.inputs = inputs  # type: ignore[misc]
        self.output_type = "any"
        self.source = "mcp:" + " ".join(connection.command)
        self._check_definition()

    def forward(self, **kwargs: Any) -> Any:
        return self.connection.call(self.name, {k: v for k, v in kwargs.items() if v is not None})

    def __repr__(self) -> str:
        return f"<MCPTool {self.signature()} from {self.source}>"


def load_mcp_tools(command: list[str], **options: Any) -> list[Tool]:
    """Start the MCP server `command` and return its tools."""
    connection = MCPConnection(command, **options)
    return [MCPTool(connection, spec) for spec in connection.tools]
