# make install / make uninstall (docs/operations.md). PREFIX (default /usr/local) and
# DESTDIR are honoured; the binaries come from $(B), so `make BUILDDIR=dir install` works.
#   $(PREFIX)/sbin/rechargd            $(PREFIX)/bin/rechargectl
#   $(PREFIX)/share/man/man8, man5     the manual pages
#   $(PREFIX)/share/rechargd/          number-series.csv: rechargectl init finds it there,
#                                      as ../share/rechargd next to its own bin/ folder
#   $(PREFIX)/share/doc/rechargd/      rechargd.conf.example, operations.md
#   $(UNITDIR)/rechargd.service        $(PREFIX)/lib/systemd/system; /lib/systemd/system
#                                      when PREFIX=/usr. ExecStart names $(SBINDIR).
PREFIX  ?= /usr/local
INSTALL ?= install
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/rechargd
DOCDIR  ?= $(PREFIX)/share/doc/rechargd
ifeq ($(patsubst %/,%,$(PREFIX)),/usr)
UNITDIR ?= /lib/systemd/system
else
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif

INSTALL_MAN8 := man/rechargd.8 man/rechargectl.8
INSTALL_MAN5 := man/rechargd.conf.5
INSTALL_DOCS := dist/rechargd.conf.example docs/operations.md

install: $(B)/rechargd $(B)/rechargectl $(INSTALL_MAN8) $(INSTALL_MAN5) data/number-series.csv \
    $(INSTALL_DOCS) dist/rechargd.service
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(B)/rechargd $(DESTDIR)$(SBINDIR)/rechargd
	$(INSTALL) -m 0755 $(B)/rechargectl $(DESTDIR)$(BINDIR)/rechargectl
	$(INSTALL) -m 0644 $(INSTALL_MAN8) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(INSTALL_MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 data/number-series.csv $(DESTDIR)$(DATADIR)/number-series.csv
	$(INSTALL) -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	sed 's|/usr/sbin/rechargd|$(SBINDIR)/rechargd|' dist/rechargd.service \
	    >$(DESTDIR)$(UNITDIR)/rechargd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rechargd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/rechargd $(DESTDIR)$(BINDIR)/rechargectl \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(INSTALL_MAN8))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(INSTALL_MAN5))) \
	    $(DESTDIR)$(DATADIR)/number-series.csv \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALL_DOCS))) \
	    $(DESTDIR)$(UNITDIR)/rechargd.service
	rmdir $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || true

.PHONY: install uninstall
