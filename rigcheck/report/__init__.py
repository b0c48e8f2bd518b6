"""Report objects rendered as text, JSON or HTML. No arithmetic here."""
