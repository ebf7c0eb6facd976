"""Background workers: Qt adapters around Qt-free engine jobs, with past-tense signals."""
