"""What the example labourer does to a task's text."""


def shout(text: str) -> str:
    """The text in capitals, with an exclamation mark."""
    return text.upper() + "!"
