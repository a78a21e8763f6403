// The file fields of the new-ticket and reply forms (input[data-attachments]): files can be
// dropped on the field as well as chosen, and the chosen ones are listed (name, size, and a
// warning for one too large or too many) with a button to take one out, before anything is sent.
// The server checks everything again; without this script the plain file input still works.
// Its words come from the input's data-words attribute (JSON, in the reader's language:
// messaging/forms.py), with their %(name)s placeholders filled in here.
(function () {
  "use strict";

  function say(input, key, values) {
    var words = JSON.parse(input.dataset.words || "{}");
    return (words[key] || "").replace(/%\((\w+)\)s/g, function (_match, name) {
      return String(values[name]);
    });
  }

  function formatSize(input, bytes) {
    if (bytes < 1024) return say(input, "bytes", {size: bytes});
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function setFiles(input, files) {
    // A DataTransfer is the one way a page may set an input's files.
    var transfer = new DataTransfer();
    files.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
  }

  function enhance(input) {
    var maxFiles = Number(input.dataset.maxFiles);
    var maxBytes = Number(input.dataset.maxBytes);
    var zone = input.parentElement;
    zone.classList.add("attachment-drop");
    var list = document.createElement("ul");
    list.className = "attachment-chosen";
    list.setAttribute("aria-live", "polite");
    list.setAttribute("aria-label", say(input, "list", {}));
    input.insertAdjacentElement("afterend", list);

    function render() {
      var files = Array.from(input.files);
      list.replaceChildren();
      files.forEach(function (file, index) {
        var item = document.createElement("li");
        var name = document.createElement("span");
        name.className = "text-break";
        name.textContent = file.name;
        var size = document.createElement("span");
        size.className = "text-body-secondary";
        size.textContent = formatSize(input, file.size);
        item.append(name, size);
        if (file.size > maxBytes) {
          var tooLarge = document.createElement("span");
          tooLarge.className = "text-danger";
          tooLarge.textContent = say(input, "tooLarge", {size: formatSize(input, maxBytes)});
          item.append(tooLarge);
        }
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn btn-link btn-sm p-0";
        remove.textContent = say(input, "remove", {});
        remove.setAttribute("aria-label", say(input, "removeFile", {name: file.name}));
        remove.addEventListener("click", function () {
          setFiles(input, files.filter(function (_file, other) { return other !== index; }));
          render();
        });
        item.append(remove);
        list.append(item);
      });
      if (files.length > maxFiles) {
        var tooMany = document.createElement("li");
        tooMany.className = "text-danger";
        tooMany.textContent = say(input, "tooMany", {count: files.length, max: maxFiles});
        list.append(tooMany);
      }
    }

    input.addEventListener("change", render);
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("is-dragging"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-dragging");
      var dropped = Array.from(event.dataTransfer.files);
      setFiles(input, Array.from(input.files).concat(dropped));
      render();
    });
    render();
  }

  document.querySelectorAll("input[type=file][data-attachments]").forEach(enhance);
})();
