// Apply the remembered theme before first paint (no flash). A file rather than an inline
// script: the Content-Security-Policy allows scripts from this origin only.
(function () {
  try {
    var t = localStorage.getItem("agentdeck.theme");
    if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
  } catch (e) {}
})();
