// Migrations listed explicitly: no file-system scanning, works the same under tsx and vitest.
import { Migration20261203000000_initial } from "./Migration20261203000000_initial.js";

export const migrationsList = [
  { name: "Migration20261203000000_initial", class: Migration20261203000000_initial },
];
