"""邻里助手 application package: data, rules and the JSON API the Rasa actions call."""
