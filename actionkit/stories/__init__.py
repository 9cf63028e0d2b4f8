"""Supporters' stories: written without an account, stored encrypted, published only after moderation and only at
the consent level the storyteller gave."""
