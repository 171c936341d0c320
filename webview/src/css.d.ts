// Stylesheets are bundled by esbuild next to the script (dist/webview/main.css).
declare module '*.css';
