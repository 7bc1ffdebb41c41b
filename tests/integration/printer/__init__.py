"""Receipt printers: a real folder, a real TCP printer port on 127.0.0.1."""
