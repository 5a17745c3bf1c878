"""Custom Rasa actions. Thin: the app's API owns the data and the rules (see app_client)."""
