"""The story: parsing a forum export into chapters, and importing it into the database."""
