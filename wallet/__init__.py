"""The holder's wallet: link secret, credentials, presentations."""
