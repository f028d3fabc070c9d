/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native modules and the process runner stay outside the bundle: they are loaded
  // by Node at run time from node_modules.
  serverExternalPackages: ["better-sqlite3", "@node-rs/argon2", "pino", "execa"],
  // Lets several builds (and their servers) live side by side, e.g. NSLAB_DIST_DIR=.next-x.
  distDir: process.env.NSLAB_DIST_DIR || ".next",
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
