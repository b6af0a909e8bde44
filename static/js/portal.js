// The header's menus are <details> elements: they open and close without JavaScript. With it,
// they also behave as menus do: a click elsewhere or Escape closes an open menu, and opening one
// menu closes the others.
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll("header.topbar details[open]");
  }

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    openMenus().forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) {
        summary.focus();
      }
    });
  });

  // "toggle" does not bubble; listening while it is captured sees every menu's.
  document.addEventListener(
    "toggle",
    function (event) {
      var opened = event.target;
      if (!opened.open || !opened.closest || !opened.closest("header.topbar")) {
        return;
      }
      openMenus().forEach(function (menu) {
        if (menu !== opened) {
          menu.removeAttribute("open");
        }
      });
    },
    true
  );
})();
