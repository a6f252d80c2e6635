"""A small MCP server over stdio, for the tests."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("smolnb-test-tools")


@server.tool()
def add_numbers(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str, times: int = 1) -> str:
    """Upper-case a text, repeated."""
    return " ".join([text.upper()] * times)


@server.tool()
def explode() -> str:
    """Always fails."""
    raise ValueError("kaboom")


if __name__ == "__main__":
    server.run("stdio")
