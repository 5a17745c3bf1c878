"""Custom Rasa input channels (WeChat Official Account, web chat): built in the resident-chat issue."""
