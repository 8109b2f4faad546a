# Installs Tally from this directory:
#   sudo make install     for every user, into /usr/local (PREFIX=/usr/local)
#   make user-install     for you alone, into ~/.local
#   sudo make uninstall   or   make user-uninstall
# The station's data (~/.config/tally) is never touched.

PREFIX ?= /usr/local
APP := org.tally.app
FILES := bin/tally share/applications/$(APP).desktop share/icons/hicolor/512x512/apps/$(APP).png

.PHONY: install uninstall user-install user-uninstall

install:
	install -D -m 0755 bin/tally $(DESTDIR)$(PREFIX)/bin/tally
	install -D -m 0644 share/icons/hicolor/512x512/apps/$(APP).png \
		$(DESTDIR)$(PREFIX)/share/icons/hicolor/512x512/apps/$(APP).png
	mkdir -p $(DESTDIR)$(PREFIX)/share/applications
	sed 's|^Exec=tally |Exec=$(PREFIX)/bin/tally |' share/applications/$(APP).desktop \
		>$(DESTDIR)$(PREFIX)/share/applications/$(APP).desktop

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(FILES))

user-install:
	$(MAKE) install PREFIX=$(HOME)/.local

user-uninstall:
	$(MAKE) uninstall PREFIX=$(HOME)/.local
