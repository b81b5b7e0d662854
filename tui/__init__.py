"""Committee dashboard (Textual) and official result sheets (PDF)."""
