-- Neovim 0.7 smoke test: start the HdLM language server over stdio with Neovim's own LSP client,
-- wait for its hdlm/status notification, send hdlm/engineInfo and, when $HDLM_TASK names a task
-- file, hdlm/classify on a line of a buffer, and when $HDLM_DATASET names a dataset file,
-- textDocument/references and textDocument/rename on the label "dog" of its first line; write
-- what came back as JSON to $HDLM_NVIM_OUT and quit (exit code 0 when the answers arrived, 1
-- otherwise).
local server = assert(os.getenv('HDLM_SERVER'), 'HDLM_SERVER is not set')
local out_path = assert(os.getenv('HDLM_NVIM_OUT'), 'HDLM_NVIM_OUT is not set')
local result = { statuses = {} }
local task = os.getenv('HDLM_TASK')
local dataset = os.getenv('HDLM_DATASET')

local function finish(code)
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd(code == 0 and 'qall!' or 'cquit 1')
end

local client_id = vim.lsp.start_client({
  name = 'hdlm',
  cmd = { 'node', server, '--stdio' },
  root_dir = vim.fn.getcwd(),
  -- Answered to the server's workspace/configuration requests for the 'hdlm' section.
  settings = { hdlm = { task = task or '', threads = 1 } },
  -- Neovim 0.7 neither offers workspace/configuration nor pushes settings by itself; this is
  -- how a Neovim user hands the server their settings.
  on_init = function(client)
    client.notify('workspace/didChangeConfiguration', { settings = client.config.settings })
  end,
  handlers = {
    ['hdlm/status'] = function(_, params)
      table.insert(result.statuses, params)
    end,
  },
  on_exit = function(code)
    result.exit = code
  end,
})
if not client_id then
  result.error = 'start_client failed'
  finish(1)
end

local function ready()
  local last = result.statuses[#result.statuses]
  return last ~= nil and last.busy == false
end

if not vim.wait(30000, ready, 50) then
  result.error = 'no ready hdlm/status within 30 s'
  finish(1)
end

local client = vim.lsp.get_client_by_id(client_id)
local buf = vim.api.nvim_create_buf(true, false)
vim.lsp.buf_attach_client(buf, client_id)
local answered = false
client.request('hdlm/engineInfo', {}, function(err, res)
  result.err = err
  result.engineInfo = res
  answered = true
end, buf)

if not vim.wait(30000, function() return answered end, 50) then
  result.error = 'no answer to hdlm/engineInfo within 30 s'
  finish(1)
end
if task then
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'a small animal that barks' })
  local line = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
  local classified = false
  client.request('hdlm/classify', { text = line }, function(err, res)
    result.classifyErr = err
    result.classify = res
    classified = true
  end, buf)
  if not vim.wait(60000, function() return classified end, 50) then
    result.error = 'no answer to hdlm/classify within 60 s'
    finish(1)
  end
end
if dataset then
  vim.cmd('edit ' .. vim.fn.fnameescape(dataset))
  local dbuf = vim.api.nvim_get_current_buf()
  -- The server serves JSON Lines datasets by language id; Neovim 0.7 has no jsonl filetype.
  vim.bo[dbuf].filetype = 'jsonl'
  vim.lsp.buf_attach_client(dbuf, client_id)
  local first = vim.api.nvim_buf_get_lines(dbuf, 0, 1, false)[1]
  -- find() is 1-based and points at the opening quote, so as a 0-based column it is the 'd'.
  local at = { line = 0, character = first:find('"dog"', 1, true) }
  local doc = { uri = vim.uri_from_bufnr(dbuf) }
  local answers = 0
  client.request('textDocument/references', { textDocument = doc, position = at, context = { includeDeclaration = true } }, function(err, res)
    result.referencesErr = err
    result.references = res
    answers = answers + 1
  end, dbuf)
  client.request('textDocument/rename', { textDocument = doc, position = at, newName = 'hound' }, function(err, res)
    result.renameErr = err
    result.rename = res
    answers = answers + 1
  end, dbuf)
  if not vim.wait(30000, function() return answers == 2 end, 50) then
    result.error = 'no answer to references and rename within 30 s'
    finish(1)
  end
end
client.stop()
finish(result.engineInfo and (not task or result.classify) and (not dataset or (result.references and result.rename)) and 0 or 1)
